package control

import (
	"context"
	"strings"

	"github.com/ptu-dev/ptu"
	"github.com/ptu-dev/ptu/catalog"
)

// ModelSKUOffer is a deployment type a model can be deployed with, and its size rule.
type ModelSKUOffer struct {
	Name      string
	UsageName string
	Capacity  Capacity
}

// ModelOffer is a model version that can be deployed in a region.
type ModelOffer struct {
	Model       *catalog.Model
	SKUs        []ModelSKUOffer
	MaxCapacity int // the largest size of any of its types
}

// Models lists the catalog's models available in location.
func (s *Service) Models(ctx context.Context, sub, location string) ([]ModelOffer, error) {
	err := s.view(ctx, func(tx ptu.Tx) error {
		if _, err := getSubscription(tx, sub); err != nil {
			return err
		}
		_, err := getRegion(tx, location)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.offers(), nil
}

// AccountModels lists the models an account can deploy.
func (s *Service) AccountModels(ctx context.Context, sub, rg, acct string) ([]ModelOffer, error) {
	if _, err := s.GetAccount(ctx, sub, rg, acct); err != nil {
		return nil, err
	}
	return s.offers(), nil
}

func (s *Service) offers() []ModelOffer {
	var out []ModelOffer
	for i := range s.cat.Models {
		m := &s.cat.Models[i]
		o := ModelOffer{Model: m}
		for j := range m.SKUs {
			k := &m.SKUs[j]
			o.SKUs = append(o.SKUs, ModelSKUOffer{Name: k.Name, UsageName: k.UsageName, Capacity: capacityOf(k)})
			o.MaxCapacity = max(o.MaxCapacity, k.Maximum)
		}
		out = append(out, o)
	}
	return out
}

// ModelCapacity is the largest deployment of a model and type a subscription could create in a region now.
type ModelCapacity struct {
	Location          string
	SKUName           string
	Model             ptu.ModelRef
	AvailableCapacity int
}

// ModelCapacities reports, per region (one, or every region when location is "")
// and provisioned type, the largest deployment of model that sub could create
// now: free quota and free pool capacity both counted.
func (s *Service) ModelCapacities(ctx context.Context, sub, location string, model ptu.ModelRef) ([]ModelCapacity, error) {
	if model.Name == "" {
		return nil, &ptu.Error{Code: ptu.CodeInvalidRequestContent, Target: "modelName",
			Message: "modelName is required: name the model whose capacity to list, e.g. modelFormat=OpenAI&modelName=gpt-4o&modelVersion=2024-11-20."}
	}
	if model.Format != "" && !strings.EqualFold(model.Format, "OpenAI") {
		return nil, ptu.Errorf(ptu.CodeDeploymentModelNotSupported, "The model format '%s' is not supported. Use 'OpenAI'.", model.Format)
	}
	m, ok := s.cat.Lookup(model.Name, model.Version)
	if !ok {
		return nil, s.unknownModel(model)
	}
	var out []ModelCapacity
	err := s.view(ctx, func(tx ptu.Tx) error {
		subn, err := getSubscription(tx, sub)
		if err != nil {
			return err
		}
		w, err := loadWorld(tx)
		if err != nil {
			return err
		}
		regions := w.names
		if location != "" {
			r, err := getRegion(tx, location)
			if err != nil {
				return err
			}
			regions = []string{r.Name}
		}
		for _, region := range regions {
			for _, skuName := range ptu.ProvisionedSKUs {
				sku, ok := m.SKU(skuName)
				if !ok {
					continue
				}
				n, err := s.largest(tx, w, subn.ID, region, m, sku)
				if err != nil {
					return err
				}
				out = append(out, ModelCapacity{Location: region, SKUName: sku.Name, Model: m.Ref(), AvailableCapacity: n})
			}
		}
		return nil
	})
	return out, err
}
